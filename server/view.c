/*
 * view.c - the masked order view, and the list's summary (which holds no
 * personal field at all).
 */
#include "common.h"
#include "view.h"
#include "app.h"
#include "crypto.h"
#include "json.h"
#include "mask.h"
#include "retention.h"
#include "sort.h"

#include <time.h>

enum st view_open(struct app *app, const struct order_row *r, struct order *o)
{
	char *plain = NULL, bind[ORDER_BIND_MAX];
	size_t len = 0;
	enum st st;

	memset(o, 0, sizeof(*o));
	if (!r->sealed || r->erased_at)
		return ST_GONE;
	/* Bound to the row's depot and creator: a row moved in the database does not open. */
	order_row_bind(r, bind);
	retention_keys_need(app, r->kek_version);
	st = crypto_open(app->kr, bind, r->kek_version, r->seal_version, r->wrapped_dek, r->sealed,
			 r->sealed_len, &plain, &len);
	if (st != ST_OK)
		return st;
	st = order_from_json(plain, len, o);
	free_wiped(plain, len + 1);
	return st == ST_OK ? ST_OK : ST_CRYPTO;
}

void view_time(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_region(cJSON *obj, const char *key, const char *p, const char *c, const char *d)
{
	char region[REGION_BYTES * 3];

	/* Municipalities repeat themselves (上海市上海市): say it once. */
	if (strcmp(p, c) == 0)
		snprintf(region, sizeof(region), "%s%s", p, d);
	else
		snprintf(region, sizeof(region), "%s%s%s", p, c, d);
	cJSON_AddStringToObject(obj, key, region);
}

static void add_masked(cJSON *obj, const char *key, const struct masked *m)
{
	cJSON_AddStringToObject(obj, key, m->s);
}

/* What the view and the summary both open with: the order's clear identity and times. */
static void add_clear_head(cJSON *v, const struct order_row *r)
{
	char ts[24];

	cJSON_AddStringToObject(v, "tracking_no", r->tracking_no);
	cJSON_AddStringToObject(v, "status", r->status);
	cJSON_AddStringToObject(v, "depot", r->depot);
	if (r->courier[0])
		cJSON_AddStringToObject(v, "courier", r->courier);
	else
		cJSON_AddNullToObject(v, "courier");
	view_time(r->created_at, ts);
	cJSON_AddStringToObject(v, "created_at", ts);
	view_time(r->updated_at ? r->updated_at : r->created_at, ts);
	cJSON_AddStringToObject(v, "updated_at", ts);
}

/* The route sort_table gave the order: its sort code, or null when none matched. */
static void add_sort_code(cJSON *v, const struct order_row *r)
{
	if (r->sort_code[0])
		cJSON_AddStringToObject(v, "sort_code", r->sort_code);
	else
		cJSON_AddNullToObject(v, "sort_code");
}

/* One party of the view: its masked name and phone, and its clear region. */
static cJSON *add_party(cJSON *v, const char *key, const struct party *p, const char *province,
			const char *city, const char *district)
{
	cJSON *obj = cJSON_AddObjectToObject(v, key);
	struct masked m;

	mask_name(p->name, &m);
	add_masked(obj, "name", &m);
	mask_phone(p->phone, &m);
	add_masked(obj, "phone", &m);
	mem_wipe(&m, sizeof(m));
	add_region(obj, "region", province, city, district);
	return obj;
}

cJSON *view_order(const struct order_row *r, const struct order *o)
{
	cJSON *v = cJSON_CreateObject(), *rcp, *parcel;
	struct masked m;

	if (!v)
		return NULL;
	add_clear_head(v, r);
	add_party(v, "sender", &o->sender, r->origin_province, r->origin_city, r->origin_district);
	rcp = add_party(v, "recipient", &o->recipient, r->dest_province, r->dest_city,
			r->dest_district);
	add_sort_code(v, r);
	mask_address(o->recipient.address, &m);
	add_masked(rcp, "address", &m);
	mem_wipe(&m, sizeof(m));

	parcel = cJSON_AddObjectToObject(v, "parcel");
	cJSON_AddNumberToObject(parcel, "weight_g", r->weight_g);
	cJSON_AddNumberToObject(parcel, "count", r->count);
	if (r->vnum[0]) {
		cJSON_AddStringToObject(v, "virtual_number", r->vnum);
		cJSON_AddStringToObject(v, "extension", r->ext);
	} else {
		cJSON_AddNullToObject(v, "virtual_number");
		cJSON_AddNullToObject(v, "extension");
	}
	return v;
}

cJSON *view_summary(const struct order_row *r)
{
	cJSON *v = cJSON_CreateObject(), *parcel;

	if (!v)
		return NULL;
	/* The clear columns alone: the sealed blob is neither needed nor opened. */
	add_clear_head(v, r);
	add_region(v, "destination", r->dest_province, r->dest_city, r->dest_district);
	add_sort_code(v, r);
	parcel = cJSON_AddObjectToObject(v, "parcel");
	cJSON_AddNumberToObject(parcel, "weight_g", r->weight_g);
	cJSON_AddNumberToObject(parcel, "count", r->count);
	cJSON_AddNumberToObject(v, "prints", r->print_count);
	return v;
}

static void region_copy(struct label_region *dst, const char *p, const char *c, const char *d)
{
	snprintf(dst->province, sizeof(dst->province), "%s", p);
	snprintf(dst->city, sizeof(dst->city), "%s", c);
	snprintf(dst->district, sizeof(dst->district), "%s", d);
}

_Static_assert(SORT_CODE_MAX <= LABEL_SORT_MAX && SORT_HUB_NAME_MAX <= LABEL_HUB_NAME_MAX &&
		   SORT_HUB_CODE_MAX <= LABEL_HUB_CODE_MAX,
	       "every route sort_table accepts fits a label");

void view_label_fields(struct label_fields *f, const struct order_row *row, const struct order *o)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->tracking_no, sizeof(f->tracking_no), "%s", row->tracking_no);
	region_copy(&f->dest, row->dest_province, row->dest_city, row->dest_district);
	region_copy(&f->sndr, row->origin_province, row->origin_city, row->origin_district);
	mask_name(o->recipient.name, &f->rcpt_name);
	mask_phone(o->recipient.phone, &f->rcpt_phone);
	mask_address(o->recipient.address, &f->rcpt_address);
	mask_name(o->sender.name, &f->sndr_name);
	mask_phone(o->sender.phone, &f->sndr_phone);
	snprintf(f->vnum, sizeof(f->vnum), "%s", row->vnum);
	snprintf(f->ext, sizeof(f->ext), "%s", row->ext);
	f->weight_g = row->weight_g;
	f->count = row->count;
	/* The route stored at creation: a later sort_table does not reroute a reprint. */
	str_copy(f->sort_code, sizeof(f->sort_code), row->sort_code);
	str_copy(f->hub_name, sizeof(f->hub_name), row->hub_name);
	str_copy(f->hub_code, sizeof(f->hub_code), row->hub_code);
}

enum st view_order_json(struct app *app, const struct order_row *r, char **json)
{
	struct order o;
	cJSON *v;
	enum st st;

	*json = NULL;
	st = view_open(app, r, &o);
	if (st != ST_OK)
		return st;
	v = view_order(r, &o);
	order_release(&o);
	if (!v)
		return ST_NOMEM;
	*json = cJSON_PrintUnformatted(v);
	json_delete_wiped(v);
	return *json ? ST_OK : ST_NOMEM;
}
