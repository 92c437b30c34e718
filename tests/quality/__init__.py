"""Tests of the quality tiers."""
