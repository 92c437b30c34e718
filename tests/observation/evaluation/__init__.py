"""Tests of contract evaluation."""
