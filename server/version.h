/*
 * version.h - what this binary is: the release and the commit it was built
 * from, written into build/version.c by the Makefile.
 */
#ifndef WAYBILL_VERSION_H
#define WAYBILL_VERSION_H

extern const char waybill_version[]; /* "0.13.0" */
extern const char waybill_commit[];  /* short hash, "-dirty" when built from a changed tree */

#endif
