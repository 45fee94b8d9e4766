/*
 * test_printer.c - the printers file (printer.c): a table of bad lines and
 * what each says, a good file read back, a depot sees only its own, and a
 * reload that fails keeps the old table.
 */
#include "common.h"
#include "t.h"
#include "printer.h"

#include <stdlib.h>
#include <unistd.h>

static bool size_known(const char *size, void *arg)
{
	(void)arg;
	return strcmp(size, "100x150") == 0 || strcmp(size, "76x130") == 0;
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"p1 d1 127.0.0.1:9100 zpl 203\n", "p.conf:1: want 6 fields"},
	    {"# c\np1 d1 127.0.0.1:9100 zpl 203 100x150 extra\n", "p.conf:2: want 6 fields"},
	    {"P1 d1 127.0.0.1:9100 zpl 203 100x150\n", "p.conf:1: name: want 1-32"},
	    {"p/1 d1 127.0.0.1:9100 zpl 203 100x150\n", "p.conf:1: name: want 1-32"},
	    {"abcdefghijabcdefghijabcdefghijabc d1 127.0.0.1:9100 zpl 203 100x150\n",
	     "p.conf:1: name: want 1-32"},
	    {"p1 d/1 127.0.0.1:9100 zpl 203 100x150\n", "p.conf:1: depot: want"},
	    {"p1 d1 127.0.0.1 zpl 203 100x150\n", "p.conf:1: address: want HOST:PORT"},
	    {"p1 d1 127.0.0.1:0 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 127.0.0.1:65536 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 127.0.0.1:91x0 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 ::1:9100 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 [::g]:9100 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 host_name:9100 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 -host:9100 zpl 203 100x150\n", "p.conf:1: address"},
	    {"p1 d1 127.0.0.1:9100 ZPL 203 100x150\n", "p.conf:1: language: want zpl, tspl or pdf"},
	    {"p1 d1 127.0.0.1:9100 epl 203 100x150\n", "p.conf:1: language"},
	    {"p1 d1 127.0.0.1:9100 zpl 600 100x150\n", "p.conf:1: dpi: want 203 or 300"},
	    {"p1 d1 127.0.0.1:9100 zpl 203 100x999\n", "p.conf:1: size: no label template 100x999"},
	    {"p1 d1 127.0.0.1:9100 zpl 203 100x150\n\np1 d2 127.0.0.1:9101 tspl 300 76x130\n",
	     "p.conf:3: printer p1 is named twice"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct printer_table *t = NULL;
		char err[256] = "";
		enum st st = printer_table_parse("p.conf", cases[i].text, strlen(cases[i].text),
						 size_known, NULL, &t, err, sizeof(err));

		CHECKF(st == ST_INVALID && !t, "case %zu", i);
		CHECKF(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: %s", i,
		       err);
		printer_table_free(t);
	}
}

static const char good[] = "# name depot host:port language dpi size\n"
			   "d1-dock-1\td1\t127.0.0.1:9100\tzpl\t203\t100x150\r\n"
			   "  d1-dock-2  d1  printer-2.d1.example:9101  tspl  300  76x130\n"
			   "d2-main d2 [::1]:9100 pdf 203 100x150\n"
			   "   # indented comment\n"
			   "\n";

static void test_good(void)
{
	struct printer_table *t = NULL;
	char err[256] = "";
	const struct printer *p;

	CHECK(printer_table_parse("p.conf", good, strlen(good), size_known, NULL, &t, err,
				  sizeof(err)) == ST_OK);
	CHECK(printer_table_count(t) == 3);
	p = printer_table_at(t, 0);
	CHECK(p && strcmp(p->name, "d1-dock-1") == 0 && strcmp(p->depot, "d1") == 0 &&
	      strcmp(p->host, "127.0.0.1") == 0 && strcmp(p->port, "9100") == 0 &&
	      p->lang == PRINTER_ZPL && p->dpi == 203 && strcmp(p->size, "100x150") == 0);
	p = printer_table_at(t, 1);
	CHECK(p && strcmp(p->host, "printer-2.d1.example") == 0 && p->lang == PRINTER_TSPL &&
	      p->dpi == 300 && strcmp(p->size, "76x130") == 0);
	p = printer_table_at(t, 2);
	CHECK(p && strcmp(p->host, "::1") == 0 && p->lang == PRINTER_PDF);
	CHECK(printer_table_at(t, 3) == NULL);
	CHECK_STR(printer_lang_name(PRINTER_TSPL), "tspl");
	printer_table_free(t);
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

static void test_depots_and_reload(void)
{
	char path[] = "/tmp/test_printer.XXXXXX", err[256];
	int fd = mkstemp(path);
	struct printers *ps = NULL;
	struct printer p, *list;
	size_t n;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	write_file(path, good);
	CHECK(printers_new(path, size_known, NULL, &ps, err, sizeof(err)) == ST_OK);
	CHECK(printers_count(ps) == 3);
	/* A depot finds its own printers, and another depot's is none at all. */
	CHECK(printers_find(ps, "d1", "d1-dock-2", &p) && p.dpi == 300);
	CHECK(!printers_find(ps, "d2", "d1-dock-2", &p) && p.name[0] == '\0');
	CHECK(!printers_find(ps, "d1", "d2-main", &p));
	CHECK(!printers_find(ps, "", "d1-dock-1", &p));
	CHECK(!printers_find(ps, "d1", "nope", &p));
	CHECK(printers_of_depot(ps, "d1", &list, &n) == ST_OK && n == 2);
	CHECK(n == 2 && strcmp(list[0].name, "d1-dock-1") == 0 &&
	      strcmp(list[1].name, "d1-dock-2") == 0);
	free(list);
	CHECK(printers_of_depot(ps, "d9", &list, &n) == ST_OK && n == 0 && !list);

	/* A bad reload names the line and keeps the old table. */
	write_file(path, "x d1 127.0.0.1:9100 zpl 203 100x150\ny d1 nowhere zpl 203 100x150\n");
	CHECK(printers_reload(ps, err, sizeof(err)) == ST_INVALID);
	CHECKF(strstr(err, ":2: address") != NULL, "%s", err);
	CHECK(printers_count(ps) == 3 && printers_find(ps, "d1", "d1-dock-1", &p));
	/* A good one replaces it whole. */
	write_file(path, "x d1 127.0.0.1:9100 zpl 203 100x150\n");
	CHECK(printers_reload(ps, err, sizeof(err)) == ST_OK);
	CHECK(printers_count(ps) == 1 && printers_find(ps, "d1", "x", &p));
	CHECK(!printers_find(ps, "d1", "d1-dock-1", &p));
	unlink(path);
	CHECK(printers_reload(ps, err, sizeof(err)) == ST_IO && printers_count(ps) == 1);
	printers_free(ps);

	ps = NULL;
	write_file(path, "only three fields\n");
	CHECK(printers_new(path, size_known, NULL, &ps, err, sizeof(err)) == ST_INVALID && !ps);
	unlink(path);
	CHECK(printers_new("", size_known, NULL, &ps, err, sizeof(err)) == ST_OK);
	CHECK(printers_count(ps) == 0 && !printers_find(ps, "d1", "x", &p));
	printers_free(ps);
	CHECK(!printers_find(NULL, "d1", "x", &p));
}

int main(void)
{
	test_errors();
	test_good();
	test_depots_and_reload();
	return t_done();
}
