-- PostgreSQL only: the store runs these statements there and skips them
-- on SQLite, whose one writer at a time numbers transactions with
-- MAX(seq) + 1. On PostgreSQL a write locks only its own book, so writers
-- of different books run at once and take their numbers from a sequence,
-- which never hands out one number twice; it starts after the numbers
-- already stored.
CREATE SEQUENCE portfolio_transactions_seq AS BIGINT;
SELECT setval('portfolio_transactions_seq', (SELECT COALESCE(MAX(seq), 0) + 1 FROM portfolio_transactions), false);
