/*
 * test_sort.c - the routing table (sort.c): what a bad line says, which
 * route wins, folding of full-width characters and spaces, and a reload
 * that fails keeping the old table.
 */
#include "common.h"
#include "t.h"
#include "sort.h"

#include <stdlib.h>

#include <unistd.h>

static const char good[] = "# province\tcity\tdistrict\tstreet prefix\tsort\thub code\thub name\n"
			   "北京市\t北京市\t朝阳区\t\t010-A01-00\tBJ01\t北京朝阳集包\n"
			   "北京市\t北京市\t朝阳区\t建国路\t010-A01-12\tBJ01\t北京朝阳集包\n"
			   "北京市\t北京市\t朝阳区\t建国路1\t010-A01-13\tBJ02\t北京CBD集包\n"
			   "\n"
			   "   # an indented comment\n"
			   "江苏省\t镇江市\t*\t\t511-Z00-00\tZJ00\t镇江集包\n"
			   "江苏省\t镇江市\t京口区\t\t511-J01-00\tZJ01\t镇江京口集包\r\n"
			   "广东省\t深圳市\t宝安区\tＸＸ大道\t755-B01-07\tSZ07\t深圳宝安集包\n";

static struct sort_table *parse(const char *text, char *err, size_t errlen, enum st *st)
{
	struct sort_table *t = NULL;

	err[0] = '\0';
	*st = sort_table_parse("t.tsv", text, strlen(text), &t, err, errlen);
	return t;
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want; /* want: the start of err */
	} cases[] = {
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01\n", "t.tsv:1: want 7 tab-separated fields"},
	    {"# c\n北京市\t北京市\t朝阳区\t\t010\tBJ01\tX\tY\n", "t.tsv:2: more than 7"},
	    {"北京市\t\t朝阳区\t\t010\tBJ01\t集包\n", "t.tsv:1: city: empty"},
	    {"北京市\t北京市\t　\t\t010\tBJ01\t集包\n", "t.tsv:1: district: empty"},
	    {"北京市\t北京市\t朝阳区\t\t\tBJ01\t集包\n", "t.tsv:1: sort code: empty"},
	    {"北京市\t北京市\t朝阳区\t\t010 A\tBJ01\t集包\n", "t.tsv:1: sort code: want 1-16"},
	    {"北京市\t北京市\t朝阳区\t\tabc\tBJ01\t集包\n", "t.tsv:1: sort code: want 1-16"},
	    {"北京市\t北京市\t朝阳区\t\t01234567890123456\tBJ01\t集包\n",
	     "t.tsv:1: sort code: want 1-16"},
	    {"北京市\t北京市\t朝阳区\t\t010\tbj/01\t集包\n", "t.tsv:1: hub code: want 1-15"},
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01\t\n", "t.tsv:1: hub name: empty"},
	    /* What the label's zones hold: a hub code of 16, a hub name of 25 characters. */
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01234567890123\tX\n",
	     "t.tsv:1: hub code: want 1-15"},
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01\t一二三四五六七八九十一二三四五六七八九十一二三四"
	     "五\n",
	     "t.tsv:1: hub name: longer than 24"},
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01\t\xff\xfe\n", "t.tsv:1: hub name: not UTF-8"},
	    {"北京市\t北京市\t一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三\t"
	     "\t010\t"
	     "BJ01\tX\n",
	     "t.tsv:1: district: longer than 32"},
	    {"北京市\t北京市\t*\t建国路\t010\tBJ01\tX\n",
	     "t.tsv:1: a street prefix needs a district"},
	    /* The same route twice, once with full-width and spaces: one key after folding. */
	    {"北京市\t北京市\t朝阳区\t建国路1\t010\tBJ01\tX\n"
	     "\n"
	     "北京市\t北京市\t朝阳区 \t建国路 １\t011\tBJ02\tY\n",
	     "t.tsv:3: the same route as line 1"},
	    {"北京市\t北京市\t朝阳区\t\t010\tBJ01\tX\nA\0B\n", "t.tsv:2: a NUL byte"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		enum st st;
		struct sort_table *t;
		size_t len = strlen(cases[i].text);

		/* The NUL case: its length is the literal's, past the NUL. */
		if (strstr(cases[i].want, "NUL"))
			len += 4;
		err[0] = '\0';
		t = NULL;
		st = sort_table_parse("t.tsv", cases[i].text, len, &t, err, sizeof(err));
		CHECKF(st == ST_INVALID && !t, "case %zu", i);
		CHECKF(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: %s", i,
		       err);
		sort_table_free(t);
	}
}

static void test_match(void)
{
	char err[256];
	enum st st;
	struct sort_table *t = parse(good, err, sizeof(err), &st);
	static const struct {
		const char *p, *c, *d, *addr, *want; /* want "" = no route */
	} cases[] = {
	    /* The district alone. */
	    {"北京市", "北京市", "朝阳区", "光华路5号", "010-A01-00"},
	    {"北京市", "北京市", "朝阳区", NULL, "010-A01-00"},
	    /* A street prefix beats its district; the longest prefix wins. */
	    {"北京市", "北京市", "朝阳区", "建国路88号", "010-A01-12"},
	    {"北京市", "北京市", "朝阳区", "建国路1号", "010-A01-13"},
	    {"北京市", "北京市", "朝阳区", "建国路12号", "010-A01-13"},
	    /* Full-width digits and spaces in the address fold before the match. */
	    {"北京市", "北京市", "朝阳区", "建国路１号", "010-A01-13"},
	    {"北京市", "北京市", "朝阳区", " 建国路　1 号", "010-A01-13"},
	    /* ... and in the table (ＸＸ大道), and in the region. */
	    {"广东省", "深圳市", "宝安区", "XX大道100号", "755-B01-07"},
	    {"广东省", "深圳市", "宝安区 ", "ＸＸ 大道1号", "755-B01-07"},
	    {"广东省", "深圳市", "宝安区", "宝民二路868号", ""},
	    /* A district beats the city's "*"; another district takes "*". */
	    {"江苏省", "镇江市", "京口区", "丁卯桥路457号", "511-J01-00"},
	    {"江苏省", "镇江市", "润州区", "中山西路1号", "511-Z00-00"},
	    /* No route: another city, another province, a prefix of a name is not the name. */
	    {"江苏省", "南京市", "京口区", "x", ""},
	    {"上海市", "上海市", "浦东新区", "张杨路949号", ""},
	    {"北京市", "北京市", "朝阳", "建国路1号", ""},
	};

	CHECK(st == ST_OK && t);
	CHECK(sort_table_count(t) == 6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sort_route rt;
		bool hit =
		    sort_table_match(t, cases[i].p, cases[i].c, cases[i].d, cases[i].addr, &rt);

		CHECKF(hit == (cases[i].want[0] != '\0'), "case %zu", i);
		CHECKF(strcmp(rt.sort_code, cases[i].want) == 0, "case %zu: got %s want %s", i,
		       rt.sort_code, cases[i].want);
	}
	{
		struct sort_route rt;
		CHECK(sort_table_match(t, "北京市", "北京市", "朝阳区", "建国路1号", &rt));
		CHECK_STR(rt.hub_code, "BJ02");
		CHECK_STR(rt.hub_name, "北京CBD集包");
		/* CRLF lines: the \r is not part of the hub name. */
		CHECK(sort_table_match(t, "江苏省", "镇江市", "京口区", "", &rt));
		CHECK_STR(rt.hub_name, "镇江京口集包");
	}
	sort_table_free(t);
	/* No table: nothing matches, nothing crashes. */
	{
		struct sort_route rt;
		CHECK(!sort_table_match(NULL, "北京市", "北京市", "朝阳区", NULL, &rt));
		CHECK(rt.sort_code[0] == '\0');
		CHECK(!sorter_match(NULL, "北京市", "北京市", "朝阳区", NULL, &rt));
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void test_reload(void)
{
	char path[] = "/tmp/test_sort.XXXXXX", err[256];
	int fd = mkstemp(path);
	struct sorter *s = NULL;
	struct sort_route rt;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	write_file(path, good);
	CHECK(sorter_new(path, &s, err, sizeof(err)) == ST_OK);
	CHECK(sorter_count(s) == 6);
	CHECK(sorter_match(s, "北京市", "北京市", "朝阳区", "建国路9号", &rt));
	CHECK_STR(rt.sort_code, "010-A01-12");

	/* A bad file: the reload fails naming the line, the old table stays. */
	write_file(path, "北京市\t北京市\t朝阳区\t\t020-X\tBJ09\t新\n坏行\n");
	CHECK(sorter_reload(s, err, sizeof(err)) == ST_INVALID);
	CHECKF(strstr(err, ":2: want 7 tab-separated fields") != NULL, "%s", err);
	CHECK(sorter_count(s) == 6);
	CHECK(sorter_match(s, "北京市", "北京市", "朝阳区", "建国路9号", &rt));
	CHECK_STR(rt.sort_code, "010-A01-12");

	/* A good one replaces it whole. */
	write_file(path, "北京市\t北京市\t朝阳区\t\t020-X\tBJ09\t新\n");
	CHECK(sorter_reload(s, err, sizeof(err)) == ST_OK);
	CHECK(sorter_count(s) == 1);
	CHECK(sorter_match(s, "北京市", "北京市", "朝阳区", "建国路9号", &rt));
	CHECK_STR(rt.sort_code, "020-X");
	CHECK(!sorter_match(s, "江苏省", "镇江市", "京口区", NULL, &rt));

	/* A file gone: the reload says so, the table stays. */
	unlink(path);
	CHECK(sorter_reload(s, err, sizeof(err)) == ST_IO);
	CHECK(strstr(err, path) != NULL);
	CHECK(sorter_count(s) == 1);
	sorter_free(s);

	/* At start a bad file refuses, with file:line. */
	write_file(path, "\n\nx\ty\n");
	s = NULL;
	CHECK(sorter_new(path, &s, err, sizeof(err)) == ST_INVALID && !s);
	CHECKF(strstr(err, ":3: want 7") != NULL, "%s", err);
	unlink(path);
	/* No path: a table that matches nothing. */
	CHECK(sorter_new("", &s, err, sizeof(err)) == ST_OK && s);
	CHECK(sorter_count(s) == 0);
	CHECK(sorter_reload(s, err, sizeof(err)) == ST_OK);
	CHECK(!sorter_match(s, "北京市", "北京市", "朝阳区", NULL, &rt));
	sorter_free(s);
}

int main(void)
{
	test_errors();
	test_match();
	test_reload();
	return t_done();
}
