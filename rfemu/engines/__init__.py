"""Engines that run a network graph: ``compiled`` (arrays, batches of samples, training) and
``event`` (simpy agents on shared RF lines, physical time)."""
