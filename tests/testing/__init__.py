"""Helpers the test tiers share (no test module imports another test module)."""
