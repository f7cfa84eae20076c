"""The market itself: ``KladMarket`` and everything one simulated day does.

``market`` holds the order of a day; ``roles`` one module per kind of agent
(its state, its verbs, its compiled rules, its entry and exit); ``world`` the
city, the stashes, the justice system and the sanction tables; ``deterrence``
what agents believe of sanctions; ``ledger`` the day's metrics and the books;
``engine`` the array storage behind the Mesa agents and the random draws.
Nothing here reads or writes files.
"""
