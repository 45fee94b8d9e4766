/*
 * reason.h - what an admin's reason for a reveal may hold.
 *
 * The reason goes into the audit log, which is never purged, so it must not
 * carry personal data: a phone number in any notation, a long number, or a
 * person's name.  The rules (docs/API.md, the reveal in docs/walkthrough.md):
 *
 *  - 4-200 characters and at most REASON_TEXT_MAX bytes (85 Chinese
 *    characters); longer ones are refused, never cut.
 *  - Only printable ASCII, Chinese characters (U+4E00-U+9FFF), CJK and
 *    general punctuation, and full-width forms.  Full-width forms
 *    (U+FF01-U+FF5E) count as their ASCII letters and digits, the
 *    ideographic space as a space.  Anything else (other scripts' digits,
 *    circled digits, emoji, invisible characters) is refused.
 *  - Digits are 0-9 (full-width too) and the Chinese numerals 〇零一二三四五
 *    六七八九幺两.  Separators (space, / - . _ ( ) + , : ; # * and their
 *    CJK forms, · 、 。 and the like) are skipped: no run of 5 or more
 *    digits across them, at most 8 digits in all, no phone number.
 *  - It cites a ticket or case: letters, an optional "-" or "#", and 1-4
 *    digits ("CS-2291", "T-4711", "OPS#12").  Details belong in the ticket.
 *  - No name in the common shapes: a Chinese word of 2-4 characters that
 *    stands alone and starts with a common surname ("张三", "欧阳娜娜"); a
 *    surname with an honorific ("王先生", "李女士"); a surname after a label
 *    ("收件人：张", "客户李"); words joined by a name dot ("阿依·买买提",
 *    "John·Smith").  Latin names are not recognised: the ticket rule is
 *    the control there.
 *
 * These stop the careless and the lazy leak (a pasted phone, a name typed
 * in passing).  An insider who spells digits out in words gets through;
 * the audit review of reasons is the control for that.
 */
#ifndef WAYBILL_REASON_H
#define WAYBILL_REASON_H

#include "common.h"

#define REASON_MIN_CHARS 4
#define REASON_MAX_CHARS 200
#define REASON_TEXT_MAX 256 /* bytes, without the NUL: fits the audit entry */
#define REASON_DIGIT_RUN_MAX 4
#define REASON_DIGITS_MAX 8

/* NULL when reason (NUL-terminated; NULL: none given) may be recorded;
 * else a fixed message saying why not, never built from the input. */
const char *reason_problem(const char *reason);

#endif
