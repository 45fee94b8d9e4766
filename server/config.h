/*
 * config.h - the one option table (docs/API.md "Configuration").
 *
 * Precedence, lowest first: built-in default, config file (key = value,
 * # comments), environment (WAYBILL_KEY_NAME), command line (--key-name).
 */
#ifndef WAYBILL_CONFIG_H
#define WAYBILL_CONFIG_H

#include "common.h"

struct config {
	char listen[64];
	char metrics_listen[64]; /* "" = /metrics on listen */
	char trusted_proxy[64];	 /* numeric address, or empty */
	char db[512];
	char key_file[512];
	char audit_checkpoints[512];
	char tls_cert[512];
	char tls_key[512];
	char templates[512];
	char font[512];
	char tracking_prefix[8];
	char vnum_pool[1024];
	char log_level[8];
	char oidc_issuer[512]; /* "" = no OIDC login */
	char oidc_client_id[256];
	char oidc_audience[256]; /* "" = oidc_client_id */
	char oidc_role_claim[64];
	char oidc_depot_claim[64];
	char oidc_name_claim[64];
	char oidc_role_map[1024];    /* "group=role,..."; "" = claim values are role names */
	char sort_table[512];	     /* "" = no routing table: labels print the region */
	char printers[512];	     /* "" = no depot printers */
	char web_dir[512];	     /* the station's pages (/station/) */
	char station_client_id[256]; /* the pages' public client at oidc_issuer */
	char station_scope[256];
	long threads;
	long min_free_mb;
	long audit_checkpoint_s;
	long vnum_grace_hours;
	long vnum_quarantine_days;
	long retention_days;
	long retention_open_days;
	long purge_interval_s;
	long admin_reveals_per_day;
	long admin_max_auth_age_s; /* 0 = any login age (OIDC admins only) */
	long label_reprints_max;
	long call_routes_per_hour;
	long call_routes_per_token_per_minute;
	long auth_failures_per_minute;
	long miss_limit;
	long cluster_size; /* daemons over one database: per-process limits divided */
	long db_timeout_s; /* PostgreSQL: a write's statement or commit waits no longer */
	long max_batch_labels;
	long conn_timeout_s;
	long max_conns_per_ip;
	long max_connections;
	long header_timeout_s;
	long body_timeout_s;
	long drain_s;
	long printer_connect_timeout_ms;
	long printer_write_timeout_ms;
	long print_jobs_per_depot;
};

/* Fill with defaults. */
void config_defaults(struct config *c);

/*
 * Apply a config file, then the environment, then argv (which may name the
 * file with --config).  On error writes one line to err and returns
 * ST_INVALID.  --help prints the table and sets *help.
 */
enum st config_load(struct config *c, int argc, char **argv, bool *help, char *err, size_t errlen);

/* Set one option by name ("label_reprints_max", "40"), with its checks. */
enum st config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);

void config_usage(FILE *f);

#endif
