"""A small HR handbook as a knowledge base, and the passage each question should find first."""
import json

FILES = {
    "vacation.md": "# Vacation\n\nNew hires get 25 vacation days per year.",
    "hours.txt": "Core working hours are from ten to three on weekdays.",
    "expenses.md": "Expense reports are due within 30 days of the purchase.",
    "it.html": "<html><head><title>IT</title></head><body><p>The help desk is led by Priya Raman.</p></body></html>",
    "leave.txt": "Parents receive 16 weeks of paid parental leave.",
    "remote.txt": "Employees may work from home three days per week.",
    "policies.jsonl": json.dumps({"text": "Gifts above 50 euros must be declined.", "url": "https://x.example/gifts"}),
}
QUERIES = {
    "How many vacation days do new hires get?": "vacation.md#0",
    "When are expense reports due?": "expenses.md#0",
    "Who leads the help desk?": "it.html#0",
    "How many weeks of parental leave?": "leave.txt#0",
    "Can employees work from home?": "remote.txt#0",
    "gifts declined": "policies.jsonl:1#0",
}
