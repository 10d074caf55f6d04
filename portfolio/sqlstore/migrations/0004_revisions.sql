-- Each book's revision: every write to a book bumps its row in the
-- write's own transaction, so a cache of the books in any process on the
-- database can tell they changed with one primary-key read. A book
-- without a row has revision 0.
CREATE TABLE portfolio_revisions (
    owner VARCHAR(200) PRIMARY KEY,
    rev   BIGINT NOT NULL
);
