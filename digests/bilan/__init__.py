"""The annual bilan (`!bilan`, `rupn-bot bilan`): figures of a school year, in SQL
(bot/storage/bilan/), built into a `Bilan` (build.py), rendered as a summary and
three files (render.py: HTML to print, with pygal charts; CSV; Markdown).
"""
