CREATE TABLE portfolio_accounts (
    id           VARCHAR(200) PRIMARY KEY,
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         VARCHAR(20) NOT NULL,
    currency     VARCHAR(10) NOT NULL,
    cost_method  VARCHAR(20) NOT NULL,
    allow_short  INTEGER NOT NULL,
    allow_margin INTEGER NOT NULL
);

CREATE TABLE portfolio_stocks (
    symbol   VARCHAR(100) PRIMARY KEY,
    name     TEXT NOT NULL,
    exchange TEXT NOT NULL,
    currency VARCHAR(10) NOT NULL,
    class    VARCHAR(20) NOT NULL
);

CREATE TABLE portfolio_transactions (
    seq        BIGINT PRIMARY KEY,
    id         VARCHAR(200) NOT NULL UNIQUE,
    account    VARCHAR(200) NOT NULL REFERENCES portfolio_accounts (id),
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
    note       TEXT NOT NULL
);

CREATE INDEX portfolio_transactions_time ON portfolio_transactions (time_unix, seq);
