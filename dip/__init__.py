"""DIP: paying hospitals by disease-group points (按病种分值付费), the pure core.

Grouping, case points, year-end clearing, monthly advances and catalogue
building, exactly as ``shared/spec/dip.md`` says: money in integer fen, points,
scores, ratios and coefficients in integer ten-thousandths, intermediate values
as exact integer fractions. No Kafka, HTTP or MLflow here; the CLI adapter is
``yibao/commands/dip.py``.
"""
