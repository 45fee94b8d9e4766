/*
 * reason.c - the rules for an admin's reason (see reason.h): a pure
 * function over the text, so the unit test can hold every case.
 */
#include "common.h"
#include "reason.h"
#include "audit.h"

/* A reason that passes fits the audit entry whole: it is never cut. */
_Static_assert(REASON_TEXT_MAX < REASON_MAX_BYTES, "a reason must fit struct audit_entry");

#define M_REQUIRED "a reason is required (?reason=...)"
#define M_LENGTH "the reason must be 4 to 200 characters and at most 256 bytes"
#define M_UTF8 "the reason is not valid UTF-8"
#define M_CONTROL "the reason holds a control character"
#define M_CHARSET                                                                                  \
	"the reason holds a character that is not allowed (ASCII, Chinese characters and "         \
	"punctuation only)"
#define M_NUMBER "the reason must not hold a phone number or other long number"
#define M_TICKET "the reason must cite a ticket or case, e.g. \"CS-2291\""
#define M_NAME "the reason must not hold a person's name; cite the ticket instead"

/* Common Chinese surnames: the first character of most people's names. */
static const char SURNAMES[] =
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔汤温康施牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "兰焦俞左柳甘祝舒阮柯纪梅童凌毕季裴霍涂苗谷盛曲翁冉骆蓝辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶牟艾尤阳穆卓缪芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏"
    "瞿桂佟臧闵苟邬边卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘池苑迟邝";
/* Two-character surnames. */
static const char *const COMPOUND[] = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟",
				       "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐"};
/* A surname followed by one of these is a name ("王先生"). */
static const char *const HONORIFICS[] = {"先生", "女士", "小姐", "太太", "老师",
					 "师傅", "阿姨", "大爷", "同学", "经理"};
/* After one of these (and maybe a separator) a surname starts a name. */
static const char *const LABELS[] = {"收件人", "寄件人", "收货人", "发件人", "联系人", "客户",
				     "用户",   "顾客",	 "姓名",   "名字",   "本人"};

#define CP_MAX (REASON_TEXT_MAX + 1)

/* Decode a short UTF-8 constant into out (at most max); the count. */
static size_t decode(const char *s, uint32_t *out, size_t max)
{
	size_t k = 0, n = strlen(s);

	for (size_t i = 0; i < n && k < max;)
		i += utf8_decode(s + i, n - i, &out[k++]);
	return k;
}

static bool is_han(uint32_t c)
{
	return c >= 0x4e00 && c <= 0x9fff;
}

static bool is_latin(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Full-width forms count as ASCII, the ideographic space as a space. */
static uint32_t fold(uint32_t c)
{
	if (c >= 0xff01 && c <= 0xff5e)
		return c - 0xfee0;
	if (c == 0x3000)
		return ' ';
	return c;
}

static bool allowed(uint32_t c)
{
	return (c >= 0x20 && c <= 0x7e) || c == 0x00b7 || (c >= 0x2010 && c <= 0x2027) ||
	       (c >= 0x3001 && c <= 0x301f) || is_han(c) || (c >= 0xff61 && c <= 0xff65) ||
	       c == 0x30fb;
}

/* Is the (non-ASCII) character c one of the characters of the UTF-8 list? */
static bool in_list(const char *list, uint32_t c)
{
	char u[UTF8_MAX + 1];
	size_t l;

	if (c < 0x80)
		return false;
	l = utf8_encode(c, u);
	if (l == 0)
		return false;
	u[l] = '\0';
	/* A match can only start on a character boundary: lead bytes differ. */
	return strstr(list, u) != NULL;
}

static bool is_ascii_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

/* Chinese numerals, as a phone number is written or read out (幺 for 1). */
static bool is_cn_digit(uint32_t c)
{
	return in_list("〇零一二三四五六七八九幺", c);
}

static bool is_digit(uint32_t c)
{
	return is_ascii_digit(c) || is_cn_digit(c);
}

/* Characters people put between a number's digit groups. */
static bool is_sep(uint32_t c)
{
	return (c < 0x80 && strchr(" /-._()+,:;#*'\"~|\\", (int)c)) || c == 0x00b7 ||
	       (c >= 0x2010 && c <= 0x2027) || (c >= 0x3001 && c <= 0x301f) ||
	       (c >= 0xff61 && c <= 0xff65) || c == 0x30fb;
}

static bool is_name_dot(uint32_t c)
{
	return c == 0x00b7 || c == 0x2022 || c == 0x2027 || c == 0x30fb || c == 0xff65;
}

static bool is_surname(uint32_t c)
{
	return is_han(c) && in_list(SURNAMES, c);
}

/* Does the word list entry w (UTF-8) start at cp[i]? *len gets its length. */
static bool word_at(const uint32_t *cp, size_t n, size_t i, const char *w, size_t *len)
{
	uint32_t wc[8];
	size_t k = decode(w, wc, ARRAY_SIZE(wc));

	if (i + k > n)
		return false;
	for (size_t j = 0; j < k; j++)
		if (cp[i + j] != wc[j])
			return false;
	*len = k;
	return true;
}

static bool compound_at(const uint32_t *cp, size_t n, size_t i)
{
	size_t l;

	for (size_t k = 0; k < ARRAY_SIZE(COMPOUND); k++)
		if (word_at(cp, n, i, COMPOUND[k], &l))
			return true;
	return false;
}

static bool holds_name(const uint32_t *cp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l;

		/* Words joined by a name dot: 阿依·买买提, John·Smith. */
		if (is_name_dot(cp[i]) && i > 0 && i + 1 < n &&
		    (is_han(cp[i - 1]) || is_latin(cp[i - 1])) &&
		    (is_han(cp[i + 1]) || is_latin(cp[i + 1])))
			return true;
		if (!is_han(cp[i]))
			continue;
		/* A Chinese word of 2-4 characters standing alone, surname first. */
		if (i == 0 || !is_han(cp[i - 1])) {
			size_t e = i;
			while (e < n && is_han(cp[e]))
				e++;
			if (e - i >= 2 && e - i <= 4 &&
			    (is_surname(cp[i]) || compound_at(cp, n, i)))
				return true;
		}
		/* A surname and an honorific: 王先生. */
		if (is_surname(cp[i]))
			for (size_t k = 0; k < ARRAY_SIZE(HONORIFICS); k++)
				if (word_at(cp, n, i + 1, HONORIFICS[k], &l))
					return true;
		/* A label, maybe a separator, then a surname: 收件人：张, 客户李. */
		for (size_t k = 0; k < ARRAY_SIZE(LABELS); k++) {
			size_t j;
			if (!word_at(cp, n, i, LABELS[k], &l))
				continue;
			j = i + l;
			while (j < n && j < i + l + 2 && is_sep(cp[j]))
				j++;
			if (j < n && (is_surname(cp[j]) || compound_at(cp, n, j)))
				return true;
		}
	}
	return false;
}

/* A ticket or case: 1-12 letters, "-" or "#" or nothing, 1-4 digits, alone. */
static bool cites_ticket(const uint32_t *cp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i, d;

		if (!is_latin(cp[i]) || (i > 0 && (is_latin(cp[i - 1]) || is_digit(cp[i - 1]))))
			continue;
		while (j < n && is_latin(cp[j]))
			j++;
		if (j - i > 12)
			continue;
		if (j < n && (cp[j] == '-' || cp[j] == '#'))
			j++;
		d = j;
		while (j < n && cp[j] >= '0' && cp[j] <= '9')
			j++;
		if (j > d && j - d <= 4 && (j == n || !(is_latin(cp[j]) || is_digit(cp[j]))))
			return true;
	}
	return false;
}

const char *reason_problem(const char *reason)
{
	uint32_t cp[CP_MAX];
	size_t n, k = 0, run = 0, cn_run = 0, digits = 0;

	if (!reason)
		return M_REQUIRED;
	n = strlen(reason);
	if (n > REASON_TEXT_MAX)
		return M_LENGTH;
	if (!utf8_valid(reason, n))
		return M_UTF8;
	for (size_t i = 0; i < n;) {
		uint32_t c;

		i += utf8_decode(reason + i, n - i, &c);
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			return M_CONTROL;
		c = fold(c);
		if (!allowed(c))
			return M_CHARSET;
		cp[k++] = c;
	}
	if (k < REASON_MIN_CHARS || k > REASON_MAX_CHARS)
		return M_LENGTH;
	/*
	 * Runs of digits across separators, 0-9 and Chinese numerals apart (so
	 * "CS-2291 一直" stays one ticket and one word); a phone mixing both
	 * still has more digits than the total allows.
	 */
	for (size_t i = 0; i < k; i++) {
		if (is_ascii_digit(cp[i])) {
			run++;
			cn_run = 0;
			digits++;
		} else if (is_cn_digit(cp[i])) {
			cn_run++;
			run = 0;
			digits++;
		} else if (!is_sep(cp[i])) {
			run = cn_run = 0;
		}
		if (run > REASON_DIGIT_RUN_MAX || cn_run > REASON_DIGIT_RUN_MAX ||
		    digits > REASON_DIGITS_MAX)
			return M_NUMBER;
	}
	if (holds_name(cp, k))
		return M_NAME;
	if (!cites_ticket(cp, k))
		return M_TICKET;
	return NULL;
}
