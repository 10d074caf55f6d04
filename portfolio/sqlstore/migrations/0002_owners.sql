-- Books get owners. Rows of the example dashboard from before owners
-- existed carry them in their ids: account "u.<user>/<id>" and its
-- transactions "u.<user>/<id>" (imports) or "paper-u.<user>/paper-…"
-- (paper fills). They become account <id> in book <user>, the user's
-- paper account "u.<user>/paper" account "paper" in book "<user>/paper"
-- (where the dashboard keeps paper trading), and every "u.<user>/" is
-- taken out of the transaction ids. Other rows go to the default book ''
-- as they are: only the exact spelling counts, "u." in lower case (not
-- LIKE, which is blind to case on SQLite), a non-empty user and a
-- non-empty id after the first "/".
-- INSTR is STRPOS on PostgreSQL (the store expands it).

CREATE TABLE portfolio_accounts_v2 (
    owner        VARCHAR(200) NOT NULL,
    id           VARCHAR(200) NOT NULL,
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         VARCHAR(20) NOT NULL,
    currency     VARCHAR(10) NOT NULL,
    cost_method  VARCHAR(20) NOT NULL,
    allow_short  INTEGER NOT NULL,
    allow_margin INTEGER NOT NULL,
    PRIMARY KEY (owner, id)
);

INSERT INTO portfolio_accounts_v2 (owner, id, seq, name, kind, currency, cost_method, allow_short, allow_margin)
SELECT
    CASE WHEN NOT (substr(id, 1, 2) = 'u.' AND INSTR(id, '/') > 3 AND length(id) > INSTR(id, '/')) THEN ''
         WHEN substr(id, INSTR(id, '/') + 1) = 'paper' THEN substr(id, 3, INSTR(id, '/') - 3) || '/paper'
         ELSE substr(id, 3, INSTR(id, '/') - 3) END,
    CASE WHEN (substr(id, 1, 2) = 'u.' AND INSTR(id, '/') > 3 AND length(id) > INSTR(id, '/')) THEN substr(id, INSTR(id, '/') + 1) ELSE id END,
    seq, name, kind, currency, cost_method, allow_short, allow_margin
FROM portfolio_accounts;

CREATE TABLE portfolio_transactions_v2 (
    seq        BIGINT PRIMARY KEY,
    owner      VARCHAR(200) NOT NULL,
    id         VARCHAR(200) NOT NULL,
    account    VARCHAR(200) NOT NULL,
    kind       VARCHAR(20) NOT NULL,
    time_unix  BIGINT NOT NULL,
    time_text  VARCHAR(40) NOT NULL,
    symbol     TEXT NOT NULL,
    quantity   TEXT NOT NULL,
    price      TEXT NOT NULL,
    fee        TEXT NOT NULL,
    tax        TEXT NOT NULL,
    amount     TEXT NOT NULL,
    currency   VARCHAR(10) NOT NULL,
    fx_rate    TEXT NOT NULL,
    note       TEXT NOT NULL,
    UNIQUE (owner, id),
    FOREIGN KEY (owner, account) REFERENCES portfolio_accounts_v2 (owner, id)
);

INSERT INTO portfolio_transactions_v2 (seq, owner, id, account, kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note)
SELECT seq,
    CASE WHEN NOT (substr(account, 1, 2) = 'u.' AND INSTR(account, '/') > 3 AND length(account) > INSTR(account, '/')) THEN ''
         WHEN substr(account, INSTR(account, '/') + 1) = 'paper' THEN substr(account, 3, INSTR(account, '/') - 3) || '/paper'
         ELSE substr(account, 3, INSTR(account, '/') - 3) END,
    CASE WHEN (substr(account, 1, 2) = 'u.' AND INSTR(account, '/') > 3 AND length(account) > INSTR(account, '/')) THEN replace(id, substr(account, 1, INSTR(account, '/')), '') ELSE id END,
    CASE WHEN (substr(account, 1, 2) = 'u.' AND INSTR(account, '/') > 3 AND length(account) > INSTR(account, '/')) THEN substr(account, INSTR(account, '/') + 1) ELSE account END,
    kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note
FROM portfolio_transactions;

CREATE TABLE portfolio_stocks_v2 (
    owner    VARCHAR(200) NOT NULL,
    symbol   VARCHAR(100) NOT NULL,
    name     TEXT NOT NULL,
    exchange TEXT NOT NULL,
    currency VARCHAR(10) NOT NULL,
    class    VARCHAR(20) NOT NULL,
    PRIMARY KEY (owner, symbol)
);

INSERT INTO portfolio_stocks_v2 (owner, symbol, name, exchange, currency, class)
SELECT '', symbol, name, exchange, currency, class FROM portfolio_stocks;

DROP TABLE portfolio_transactions;
DROP TABLE portfolio_accounts;
DROP TABLE portfolio_stocks;
ALTER TABLE portfolio_accounts_v2 RENAME TO portfolio_accounts;
ALTER TABLE portfolio_transactions_v2 RENAME TO portfolio_transactions;
ALTER TABLE portfolio_stocks_v2 RENAME TO portfolio_stocks;

-- Every query names one owner: these serve them.
CREATE INDEX portfolio_accounts_owner_seq ON portfolio_accounts (owner, seq);
CREATE INDEX portfolio_transactions_owner_time ON portfolio_transactions (owner, time_unix, seq);
CREATE INDEX portfolio_transactions_owner_account ON portfolio_transactions (owner, account);
