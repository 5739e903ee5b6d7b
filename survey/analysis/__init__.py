"""Analysis: frequencies, multiple response, cross-tabs, tests, scales, models, banners, design-based estimates.

Import the functions from ``survey`` (``sv.crosstab``) or from their modules.
"""
