"""Transcripts of the kept answers, for reviewers: durable jobs run by local worker processes."""
