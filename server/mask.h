/*
 * mask.h - pure masking functions (docs/API.md "Masking", GB/T 41833-2022).
 *
 * A struct masked is the only kind of text the label renderer and the views
 * accept for personal fields, and only these functions make one: the type
 * system keeps a raw phone out of a label.
 *
 * All inputs are borrowed, NUL-terminated, and should be valid UTF-8 (order.c
 * validated them); a byte that is not is hidden, so every output is valid
 * UTF-8 and NUL-terminated within MASKED_MAX.  No function allocates; none
 * can fail: an input that cannot be masked safely becomes all stars.
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
 * never fewer than one, one '*' each.  "张" -> "*", "张三" -> "张*",
 * "欧阳东" -> "欧**" (compound surnames are not kept whole), "欧阳娜娜" ->
 * "欧**娜" (a single word of 4+ non-Latin characters keeps its last too).
 * Parts joined by "·" (or "•", "・") are masked part by part, keeping only
 * their first character ("阿***·买**"); Latin words keep their first letter
 * ("J*** S****", "L** M**-h*"), a one-letter word is "*".  Empty -> "*".
 * The full rule is at the top of mask.c.
 */
void mask_name(const char *name, struct masked *out);

/*
 * Phones, given in normalized E.164 form ("+8613812345678"): no prefix or
 * area code shown; at most the last 4 digits shown; at least 6 hidden,
 * counted over the national number (with the trunk 0 for +86 landlines).
 * "+8613812345678" -> "*******5678", "+862475650889" -> "*******0889",
 * 8 digits -> "******12", 6 or fewer -> all stars; not E.164 -> "****".
 */
void mask_phone(const char *e164, struct masked *out);

/*
 * Street address (the part under the district): road and community names
 * stay; every house, building, unit and room number is hidden: each ASCII
 * or full-width digit, Latin letter, and Chinese numeral used as a number
 * (before 号 栋 幢 座 单元 室 楼 层 户 弄 期, after 之, or at the end) becomes
 * "*".  "学府路301号3栋502室" -> "学府路***号*栋***室", "创业一路1号" ->
 * "创业一路*号".  NULL -> "".
 */
void mask_address(const char *address, struct masked *out);

#endif
