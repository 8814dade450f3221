"""The database: engine (engine.py), sessions (sessions.py), the SQLite writer queue
(writer_queue.py), the change counter (change_counter.py) and the migrations runner
(migrations.py)."""
