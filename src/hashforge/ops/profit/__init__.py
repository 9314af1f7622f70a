"""Profitability: expected coins per day, revenue, cost, profit, break-even and projections."""
