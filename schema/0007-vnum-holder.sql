-- 0007: an index of the bindings that keep a phone hash, by recipient.
--
-- Bindings are drawn at random now (store.c, store_w_binding_pick), and a
-- number on which the recipient already holds an open binding is drawn
-- again, so every new order asks "on which numbers does this recipient hold
-- one?".  vnum_bindings_held (number, extension, recipient index) answers
-- that only by walking every held binding of every number: measured, a pick
-- grew from 30 us to 250 us over 100,000 orders on 100 numbers, and to 10 ms
-- when recipients recur (as the bench's fixtures do).  This index answers it
-- with one short covering scan, and a recipient's call back to a number
-- with one seek.  It costs an entry on a random page per order (the runs of
-- orders per number that kept vnum_bindings_held's entries together are
-- gone: they showed order volume), and a move when a binding ends.
CREATE INDEX vnum_bindings_holder ON vnum_bindings (recipient_index, vnum, active_until, released)
	WHERE released = 0 AND recipient_index IS NOT NULL;
