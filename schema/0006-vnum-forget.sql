-- 0006: a binding keeps the recipient's phone hash only while it can still
-- route a call.
--
-- The hash is what lets a recipient's call back find their order, and it
-- links every order of one phone to another.  A binding that ended at once
-- (cancelled, returned, reassigned to another courier) or that was released
-- after its rest can never route again, so it no longer keeps it (store.c:
-- S_BIND_END, S_BIND_RELEASE); a delivered order's keeps it through the
-- grace period and its rest.  Erasing an order's data then only has to
-- reach the binding the order names, and the index of bindings by order
-- (one more page in every group commit) goes.
UPDATE vnum_bindings SET recipient_index = NULL
	WHERE recipient_index IS NOT NULL
	AND (released = 1 OR active_until <= CAST(strftime('%s', 'now') AS INTEGER));
DROP INDEX vnum_bindings_order;
