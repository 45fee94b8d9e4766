/*
 * audit.c - canonical encoding and chain links of audit entries.
 *
 * Each field is written as a 4-byte big-endian length and its bytes, so no
 * choice of field contents can make two different entries encode alike.
 */
#include "common.h"
#include "audit.h"
#include "crypto.h"

#include <time.h>

static size_t put_field(unsigned char *buf, size_t off, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (off + 4 + n > cap)
		return off; /* cannot happen: fields are bounded, cap fits them all */
	buf[off] = (unsigned char)(n >> 24);
	buf[off + 1] = (unsigned char)(n >> 16);
	buf[off + 2] = (unsigned char)(n >> 8);
	buf[off + 3] = (unsigned char)n;
	memcpy(buf + off + 4, s, n);
	return off + 4 + n;
}

static size_t audit_encode(const struct audit_entry *e, unsigned char *buf, size_t cap)
{
	char seq[24];
	size_t off = 0;

	snprintf(seq, sizeof(seq), "%lld", (long long)e->seq);
	off = put_field(buf, off, cap, seq);
	off = put_field(buf, off, cap, e->ts);
	off = put_field(buf, off, cap, e->actor);
	off = put_field(buf, off, cap, e->role);
	off = put_field(buf, off, cap, e->action);
	off = put_field(buf, off, cap, e->tracking_no);
	off = put_field(buf, off, cap, e->reason);
	off = put_field(buf, off, cap, e->result);
	off = put_field(buf, off, cap, e->request_id);
	return off;
}

void audit_link(const struct keyring *kr, struct audit_entry *e)
{
	unsigned char buf[sizeof(struct audit_entry) + 64];
	size_t n = audit_encode(e, buf, sizeof(buf));

	crypto_audit_mac(kr, e->prev, buf, n, e->hash);
}

bool audit_link_ok(const struct keyring *kr, const struct audit_entry *e)
{
	unsigned char buf[sizeof(struct audit_entry) + 64], want[HASH_BYTES];
	size_t n = audit_encode(e, buf, sizeof(buf));

	crypto_audit_mac(kr, e->prev, buf, n, want);
	return crypto_equal(want, e->hash, HASH_BYTES);
}

size_t audit_archive_msg(char *out, size_t cap, int64_t first, int64_t last,
			 const unsigned char head[HASH_BYTES], const char *ts)
{
	char hex[HASH_BYTES * 2 + 1];
	int n;

	crypto_hex(head, HASH_BYTES, hex);
	n = snprintf(out, cap, "v1 archive first=%lld last=%lld head=%s ts=%s", (long long)first,
		     (long long)last, hex, ts);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void audit_now(char ts[32])
{
	struct timespec now;
	struct tm tm;

	char buf[96];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 now.tv_nsec / 1000000);
	snprintf(ts, 32, "%.31s", buf);
}

void audit_entry_init(struct audit_entry *e, const char *actor, const char *role,
		      const char *action, const char *tracking_no, const char *request_id)
{
	memset(e, 0, sizeof(*e));
	str_copy(e->actor, sizeof(e->actor), actor ? actor : "-");
	str_copy(e->role, sizeof(e->role), role ? role : "-");
	str_copy(e->action, sizeof(e->action), action);
	str_copy(e->tracking_no, sizeof(e->tracking_no), tracking_no);
	str_copy(e->request_id, sizeof(e->request_id), request_id);
}

bool audit_since_parse(const char *in, char out[32])
{
	/* A template of what may stand at each position. */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddd";
	size_t n;

	if (!in)
		return false;
	n = strlen(in);
	if (n && in[n - 1] == 'Z')
		n--;
	if (n < 10 || n > sizeof(shape) - 1 || n == 11 || n == 14 || n == 17 || n == 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (in[i] < '0' || in[i] > '9') : in[i] != shape[i])
			return false;
	}
	memcpy(out, in, n);
	out[n] = '\0';
	return true;
}

cJSON *audit_entry_json(const struct audit_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char hex[HASH_BYTES * 2 + 1];

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddStringToObject(o, "ts", e->ts);
	cJSON_AddStringToObject(o, "actor", e->actor);
	cJSON_AddStringToObject(o, "role", e->role);
	cJSON_AddStringToObject(o, "action", e->action);
	if (e->tracking_no[0])
		cJSON_AddStringToObject(o, "tracking_no", e->tracking_no);
	else
		cJSON_AddNullToObject(o, "tracking_no");
	if (e->reason[0])
		cJSON_AddStringToObject(o, "reason", e->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddStringToObject(o, "result", e->result);
	if (e->request_id[0])
		cJSON_AddStringToObject(o, "request_id", e->request_id);
	crypto_hex(e->prev, HASH_BYTES, hex);
	cJSON_AddStringToObject(o, "prev_hash", hex);
	crypto_hex(e->hash, HASH_BYTES, hex);
	cJSON_AddStringToObject(o, "hash", hex);
	return o;
}
