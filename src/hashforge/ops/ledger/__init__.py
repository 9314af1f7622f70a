"""Income ledger, expenses, disposals and tax-year reports (record-keeping, not tax advice)."""
