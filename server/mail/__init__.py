"""Transactional mail: notices built from plain dataclasses, rendered to text and HTML,
sent by the mail queue over SMTP (or written to DATA_DIR/mail when SMTP_HOST is unset)."""
