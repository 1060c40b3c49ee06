"""Benchmarks of rupn-bot: they print figures and targets, they assert nothing."""
