"""Long jobs as plain generators that yield progress and honour cancellation (Qt-free)."""
