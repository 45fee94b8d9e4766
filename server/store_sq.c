/*
 * store_sq.c - the SQLite backend's table of store.h's functions: each
 * entry takes the struct store and calls sq_NAME with the struct sq_store
 * it begins (store_ops.h).
 */
#include "common.h"
#include "store_int.h"

#define X(ret, name, params, args) STORE_ADAPT_X(sq, struct sq_store, ret, name, params, args)
#define XV(name, params, args) STORE_ADAPT_XV(sq, struct sq_store, name, params, args)
STORE_OPS(X)
STORE_OPS_VOID(XV)
#undef X
#undef XV

static void sq_op_close(struct store *s)
{
	sq_close((struct sq_store *)s);
}

static const char *sq_op_trouble(struct store *s)
{
	return sq_trouble((struct sq_store *)s);
}

static enum st sq_op_checkpoint(struct store *s)
{
	return sq_checkpoint((struct sq_store *)s);
}

const struct store_ops sq_ops = {
    .name = "sqlite",
#define X(ret, name, params, args) .name = sq_op_##name,
#define XV(name, params, args) .name = sq_op_##name,
    STORE_OPS(X) STORE_OPS_VOID(XV)
#undef X
#undef XV
	.close = sq_op_close,
    .trouble = sq_op_trouble,
    .checkpoint = sq_op_checkpoint,
};
