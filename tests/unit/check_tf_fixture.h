/* Helpers shared by the check_tf_*.c unit tests: fixture loading. */
#ifndef KASSABOEK_CHECK_TF_FIXTURE_H
#define KASSABOEK_CHECK_TF_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

/* Reads tests/data/twinfield/<name> (under $KB_SRCDIR); caller free()s. */
static inline char *
tf_fixture(const char *name, size_t *len)
{
	const char	*src = getenv("KB_SRCDIR");
	char		 path[4096];
	FILE		*f;
	char		*buf;
	long		 n;

	snprintf(path, sizeof path, "%s/tests/data/twinfield/%s", src != NULL ? src : ".", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	/* Fixture files end in a newline; documents compared as strings do not. */
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return (buf);
}

#endif
