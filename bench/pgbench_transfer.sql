-- The fixed P1 reference of quality.md: the minimum SQL any correct transfer needs.
-- Run by bench/transfers.py as:
--   pgbench -n -c 32 -j 2 -T <seconds> -f bench/pgbench_transfer.sql <database>
-- on its own tables (acct: 10,000 rows; jrnl, post, idem, audit), created by the benchmark.
\set src random(1, 10000)
\set dst random(1, 10000)
\set a random(1, 100000)
BEGIN;
UPDATE acct SET bal = bal - :a WHERE id = :src AND bal >= :a;
UPDATE acct SET bal = bal + :a WHERE id = :dst;
INSERT INTO jrnl (src, dst, amount) VALUES (:src, :dst, :a);
INSERT INTO post (jrnl_id, acct_id, side, amount) VALUES
  (currval('jrnl_id_seq'), :src, 'D', :a),
  (currval('jrnl_id_seq'), :dst, 'C', :a);
INSERT INTO idem (key, status) VALUES (gen_random_uuid()::text, 201);
INSERT INTO audit (action, entity) VALUES ('transfer.created', currval('jrnl_id_seq'));
COMMIT;
