"""claim procedures (DIP grouping)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('claims', sa.Column('procedures', sa.Text(), nullable=True))
    # Claims loaded before this revision: take the codes from the stored claim JSON
    # (what review.ingest.procedures_text does at load).
    claims = sa.table(
        'claims',
        sa.column('claim_id', sa.String),
        sa.column('claim_json', sa.Text),
        sa.column('procedures', sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(claims.c.claim_id, claims.c.claim_json).where(claims.c.claim_json.is_not(None))
    ).all()
    updates = []
    for claim_id, claim_json in rows:
        try:
            value = json.loads(claim_json).get('procedures')
        except (ValueError, AttributeError):
            continue
        if value is None:
            text = ''
        elif isinstance(value, list) and all(isinstance(c, str) and ',' not in c for c in value):
            text = ','.join(value)
        else:
            continue
        updates.append({'cid': claim_id, 'text': text})
    if updates:
        connection.execute(
            claims.update()
            .where(claims.c.claim_id == sa.bindparam('cid'))
            .values(procedures=sa.bindparam('text')),
            updates,
        )


def downgrade() -> None:
    op.drop_column('claims', 'procedures')
