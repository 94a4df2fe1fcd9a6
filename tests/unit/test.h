/*
 * A minimal test harness: TEST() defines a case, RUN() runs it, CHECK()
 * records a failed expectation without stopping the case, and
 * test_summary() prints "N passed, N failed" and returns the exit status.
 */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *test_current;
static int test_case_failed;
static int test_passed;
static int test_failed;

/* Each evaluates its condition once: it may have side effects. */
#define CHECK(cond) ((void)test_check(!!(cond), __FILE__, __LINE__, #cond))

/* CHECK that stops the case: for preconditions the rest depends on. */
#define REQUIRE(cond)                                                    \
	do {                                                             \
		if (!test_check(!!(cond), __FILE__, __LINE__, #cond))    \
			return;                                          \
	} while (0)

static inline int test_check(int ok, const char *file, int line,
			     const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: %s: check failed: %s\n", file, line,
			test_current, what);
		test_case_failed = 1;
	}
	return ok;
}

#define TEST(name) static void name(void)
#define RUN(name) test_run(#name, name)

/* test_select(): run only these cases (names), NULL-terminated, at most
 * TEST_SELECT_MAX; each must be found, or the summary counts it as
 * failed. */
#define TEST_SELECT_MAX 64
static char **test_only;
static int test_found[TEST_SELECT_MAX];

static inline void test_select(char **names)
{
	test_only = names && names[0] ? names : NULL;
}

static inline int test_selected(const char *name)
{
	int i;

	if (!test_only)
		return 1;
	for (i = 0; i < TEST_SELECT_MAX && test_only[i]; i++) {
		if (strcmp(test_only[i], name) == 0) {
			test_found[i] = 1;
			return 1;
		}
	}
	return 0;
}

/* TEST_SKIP=NAME in the environment: that case is not run, and says so
 * (for a case the machine under test cannot run; the caller says why). */
static int test_skipped;

static inline void test_run(const char *name, void (*fn)(void))
{
	const char *skip = getenv("TEST_SKIP");

	if (!test_selected(name))
		return;
	if (skip && strcmp(skip, name) == 0) {
		test_skipped++;
		printf("SKIP %s\n", name);
		return;
	}
	test_current = name;
	test_case_failed = 0;
	fn();
	if (test_case_failed) {
		test_failed++;
		printf("FAIL %s\n", name);
	} else {
		test_passed++;
		printf("ok   %s\n", name);
	}
	fflush(stdout);
}

static inline int test_summary(void)
{
	int i;

	for (i = 0; test_only && test_only[i]; i++) {
		if (i >= TEST_SELECT_MAX || !test_found[i]) {
			printf("FAIL %s: no such test\n", test_only[i]);
			test_failed++;
		}
	}
	if (test_skipped)
		printf("%d passed, %d failed, %d skipped\n", test_passed,
		       test_failed, test_skipped);
	else
		printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif /* TEST_H */
