/*
 * mask.h - pure masking functions (API.md "Masking", GB/T 41833-2022).
 *
 * A struct masked is the only kind of text the label renderer and the views
 * accept for personal fields, and only these functions make one: the type
 * system keeps a raw phone out of a label.
 *
 * All inputs are borrowed, valid UTF-8 (order.c validated them).  No function
 * allocates; none can fail: an input that cannot be masked safely becomes all
 * stars.
 */
#ifndef WAYBILL_MASK_H
#define WAYBILL_MASK_H

#include "common.h"

#define MASKED_MAX 512 /* bytes, with the NUL; longest masked address fits */

struct masked {
	char s[MASKED_MAX];
};

/*
 * Names: first character kept; at least half of the characters hidden and
 * never fewer than one.  2 Han chars -> "张*"; 3 -> "张*三"... see mask.c.
 * Parts joined by "·" are masked part by part; Latin names keep each word's
 * first letter ("J*** S****").
 */
void mask_name(const char *name, struct masked *out);

/*
 * Phones, given in normalized E.164 form ("+8613812345678"): no prefix or
 * area code shown; at most the last 4 digits shown; at least 6 hidden.
 * "+8613812345678" -> "*******5678".
 */
void mask_phone(const char *e164, struct masked *out);

/*
 * Street address (the part under the district): road and community names
 * stay; every house, building, unit and room number is hidden: each ASCII
 * or full-width digit, Latin letter, and Chinese numeral used as a number
 * becomes "*".  "学府路301号3栋502室" -> "学府路***号*栋***室".
 */
void mask_address(const char *address, struct masked *out);

#endif
