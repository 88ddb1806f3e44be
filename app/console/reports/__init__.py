"""Reports: trial balance, balance sheet, income statement, teller summary; CSV; charts."""
