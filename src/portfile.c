#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kassaboek/portfile.h"
#include "kassaboek/xmalloc.h"

int
kb_write_port_file(const char *path, int port)
{
	char	*tmp;
	FILE	*f;
	int	 rc = -1;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		goto out;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return (rc);
}
