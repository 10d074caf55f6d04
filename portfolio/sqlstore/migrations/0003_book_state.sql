-- Small named records an application keeps with a book (papertrade's
-- pending limit orders), one row per owner and name.
CREATE TABLE portfolio_book_state (
    owner VARCHAR(200) NOT NULL,
    name  VARCHAR(100) NOT NULL,
    data  TEXT NOT NULL,
    PRIMARY KEY (owner, name)
);
