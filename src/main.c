#include "config.h"

#include <stdio.h>

int
main(void)
{
	printf("kassaboek %s\n", PACKAGE_VERSION);
	return (0);
}
