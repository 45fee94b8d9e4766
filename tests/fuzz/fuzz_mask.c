/*
 * fuzz_mask.c - libFuzzer target for mask.c: arbitrary bytes (cut at the
 * first NUL) go to all three functions.  Every output must be NUL-terminated
 * inside MASKED_MAX and valid UTF-8 (mask.c hides bad bytes, so this holds
 * for any input); a phone shows only stars and at most 4 digits; an address
 * shows no ASCII digit or letter; a name hides at least one character.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iserver tests/fuzz/fuzz_mask.c \
 *	server/mask.c server/util.c -o fuzz_mask && ./fuzz_mask tests/fuzz/corpus_mask
 */
#include "common.h"
#include "mask.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_utf8_valid(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	while (*s) {
		if (s[0] < 0x80) {
			s++;
			continue;
		}
		if (s[0] >= 0xc2 && s[0] <= 0xdf)
			n = 2, c = s[0] & 0x1fu;
		else if (s[0] >= 0xe0 && s[0] <= 0xef)
			n = 3, c = s[0] & 0x0fu;
		else if (s[0] >= 0xf0 && s[0] <= 0xf4)
			n = 4, c = s[0] & 0x07u;
		else
			return false;
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (s[i] & 0x3fu);
		}
		if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return false;
		s += n;
	}
	return true;
}

static void fuzz_check_out(const struct masked *m)
{
	if (!memchr(m->s, '\0', sizeof(m->s)))
		abort();
	if (!fuzz_utf8_valid((const unsigned char *)m->s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct masked m;
	char *in;
	const char *p;
	size_t digits = 0;

	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	memset(&m, 0xa5, sizeof(m));
	mask_name(in, &m);
	fuzz_check_out(&m);
	if (!strchr(m.s, '*'))
		abort();

	memset(&m, 0xa5, sizeof(m));
	mask_phone(in, &m);
	fuzz_check_out(&m);
	for (p = m.s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p != '*')
			abort();
	}
	if (digits > 4 || (digits > 0 && strspn(m.s, "*") < 6))
		abort();

	memset(&m, 0xa5, sizeof(m));
	mask_address(in, &m);
	fuzz_check_out(&m);
	if (strpbrk(m.s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
		abort();
	if (strlen(m.s) > strlen(in))
		abort();

	free(in);
	return 0;
}
