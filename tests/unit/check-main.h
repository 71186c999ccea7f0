/*
 * The main() every Check unit test shares: run the suite, print Check's
 * summary line, exit non-zero on any failure.
 *   KB_CHECK_MAIN(my_suite)   where   static Suite *my_suite(void);
 */
#ifndef KASSABOEK_CHECK_MAIN_H
#define KASSABOEK_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int
kb_check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

#define KB_CHECK_MAIN(suite_fn)			\
	int					\
	main(void)				\
	{					\
		return (kb_check_run(suite_fn()));	\
	}

#endif
