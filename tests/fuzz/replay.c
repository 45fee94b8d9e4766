/*
 * replay.c - a main() for the libFuzzer targets without libFuzzer: each
 * argument is a corpus directory (or a file) whose inputs are fed once to
 * LLVMFuzzerTestOneInput, so `make test` replays every corpus with gcc and
 * no clang.  A target aborts on a broken invariant, so reaching the end
 * means every input passed; the last line is the suite's "N passed, N failed".
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_INPUT_MAX 65536 /* the fuzzers' -max_len */

static int replay_file(const char *path, unsigned *passed)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	int rc = -1;

	if (!f) {
		fprintf(stderr, "FAIL %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(REPLAY_INPUT_MAX + 1);
	if (!buf)
		goto out;
	len = fread(buf, 1, REPLAY_INPUT_MAX + 1, f);
	if (ferror(f) || len > REPLAY_INPUT_MAX) {
		fprintf(stderr, "FAIL %s: unreadable or over %d bytes\n", path, REPLAY_INPUT_MAX);
		goto out;
	}
	/* Exactly len bytes, as libFuzzer passes them: ASan sees a read past the end. */
	{
		unsigned char *in = malloc(len ? len : 1);
		if (!in)
			goto out;
		memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	(*passed)++;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *passed, unsigned *failed)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		fprintf(stderr, "FAIL %s: %s\n", dir, strerror(errno));
		(*failed)++;
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), names_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (replay_file(path, passed) != 0)
			(*failed)++;
		free(names[i]);
	}
	free(names);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			replay_dir(argv[i], &passed, &failed);
		else if (replay_file(argv[i], &passed) != 0)
			failed++;
	}
	if (passed + failed == 0)
		failed++; /* an empty corpus replays nothing: that is a failure too */
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
