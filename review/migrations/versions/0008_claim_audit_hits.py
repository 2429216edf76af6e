"""audit-rule hits of claims: rule, result, item line, evidence, amount at stake

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'claim_audit_hits',
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('rule_code', sa.String(64), nullable=False),
        sa.Column('result', sa.String(16), nullable=False),
        sa.Column('item_index', sa.Integer(), nullable=True),
        sa.Column('item_code', sa.String(64), nullable=True),
        sa.Column('evidence_json', sa.Text(), nullable=False),
        sa.Column('amount_at_stake_fen', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('claim_id', 'seq'),
    )
    op.create_index('ix_claim_audit_hits_rule', 'claim_audit_hits', ['rule_code', 'claim_id'])
    op.create_index('ix_claim_audit_hits_result', 'claim_audit_hits', ['result', 'claim_id'])


def downgrade() -> None:
    op.drop_index('ix_claim_audit_hits_result', table_name='claim_audit_hits')
    op.drop_index('ix_claim_audit_hits_rule', table_name='claim_audit_hits')
    op.drop_table('claim_audit_hits')
