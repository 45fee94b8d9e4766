/*
 * utf8.h - the one UTF-8 decoder and encoder (Unicode 15, table 3-7).
 *
 * Well-formed means: no overlong forms, no encoded surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.  Every
 * module that reads or writes UTF-8 goes through these; each keeps its own
 * policy for what an invalid sequence means (json.c refuses it, mask.c hides
 * it as one character per byte, label*.c print it as a fallback glyph).
 * Pure functions: no allocation, no state, safe in any thread.
 */
#ifndef WAYBILL_UTF8_H
#define WAYBILL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_INVALID UINT32_MAX /* what utf8_decode() reports for a bad sequence */
#define UTF8_MAX 4		/* bytes of the longest sequence */

/*
 * Decode the code point that starts s[0..n), n >= 1.  Returns its length in
 * bytes (1..4) and sets *cp; for an ill-formed or truncated sequence *cp is
 * UTF8_INVALID and the length is 1, so a caller stepping on always advances.
 * Reads no further than s[n - 1], nor past a NUL (never a continuation byte).
 */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encode cp into out[UTF8_MAX]; returns the bytes written, 0 (nothing
 * written) for a surrogate or anything above U+10FFFF.  No NUL is added. */
size_t utf8_encode(uint32_t cp, char *out);

/* Code points in s[0..n); an ill-formed byte counts as one. */
size_t utf8_count(const char *s, size_t n);

/* Is s[0..n) well-formed UTF-8? */
bool utf8_valid(const char *s, size_t n);

#endif
