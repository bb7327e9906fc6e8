"""Keeping tests apart on databases they commit to: empty what a test wrote, nothing else.

Tests commit for real (requests in fresh contexts, threads racing, subprocesses, a live
server), so a transaction rolled back at the end of each test cannot hold them. Emptying
every table after every test works but costs: a TRUNCATE of all tables took about 100 ms
on PostgreSQL. A test writes to a few tables; one query finds which (rows present, or an
id sequence used even if its rows were rolled back), and only those are emptied, in an
order the foreign keys allow, with their ids restarted so that each test starts from the
same state.
"""
from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, Engine


#: Written by the migrations, not by tests.
KEPT_TABLES = {"alembic_version"}


class TableJanitor:
    """Empties the tables of the database that a test wrote to, through its own connection.

    The tables are read from the database itself, so one that a migration adds without
    a model is emptied too.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        schema = MetaData()
        schema.reflect(engine)
        self.tables = [table.name for table in schema.sorted_tables if table.name not in KEPT_TABLES]  # parents first
        self._quote = quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as connection:
            self.sequences = self._id_sequences(connection) if engine.dialect.name == "postgresql" else {}
        # One statement: the names of the tables with a row, or with an id sequence that was used.
        self._written_query = text(" UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {quote(name)})"
            + (f" OR (SELECT is_called FROM {self.sequences[name]})" if name in self.sequences else "")
            for name in self.tables))

    def _id_sequences(self, connection: Connection) -> dict[str, str]:
        """Table name -> the sequence behind its serial or identity column (PostgreSQL)."""
        rows = connection.execute(text(
            "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = current_schema()"))
        return {table: sequence for table, sequence in rows if sequence and table in self.tables}

    def written_tables(self, connection: Connection) -> set[str]:
        return set(connection.execute(self._written_query).scalars())

    def empty_written_tables(self) -> list[str]:
        """Empty the tables written to since the last call (children first); returns their names."""
        with self.engine.begin() as connection:
            written_to = self.written_tables(connection)
            written = [name for name in reversed(self.tables) if name in written_to]
            for name in written:
                connection.execute(text(f"DELETE FROM {self._quote(name)}"))  # a TRUNCATE costs more on small tables
            restarts = [f"setval('{self.sequences[name]}', 1, false)" for name in written if name in self.sequences]
            if restarts:  # setval, not ALTER SEQUENCE ... RESTART: that rewrites the sequence (about 6 ms each)
                connection.execute(text(f"SELECT {', '.join(restarts)}"))
        # SQLite gives a new row max(rowid) + 1, so emptied tables start again at 1 by themselves.
        return written
