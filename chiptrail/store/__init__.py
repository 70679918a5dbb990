"""SQLAlchemy tables, repositories and Alembic migrations; SQLite by default, PostgreSQL by URL.

Repositories never commit: the service layer opens one unit of work per use case.
"""
