"""What every area shares: errors, clock, dates, money, form values, tokens and CSV.

The kernel imports no area of `domain/`, so any area may import it without a cycle.
"""
