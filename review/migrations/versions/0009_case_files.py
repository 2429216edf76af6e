"""case files: notes, document requests with attachments, hospital cases, amounts recovered

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('claims', sa.Column('recovered_fen', sa.BigInteger(), nullable=True))
    op.add_column('decisions', sa.Column('recovered_fen', sa.BigInteger(), nullable=True))
    op.create_table(
        'claim_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(64), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_claim_notes_claim_id', 'claim_notes', ['claim_id'])
    op.create_table(
        'document_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('asked', sa.Text(), nullable=False),
        sa.Column('requested_by', sa.String(64), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('received_by', sa.String(64), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=True),
        sa.Column('received_note', sa.Text(), nullable=True),
        sa.Column('reviewed_by', sa.String(64), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.Column('reviewed_note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_document_requests_claim_id', 'document_requests', ['claim_id'])
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.String(64), nullable=False),
        sa.Column('stored_name', sa.String(64), nullable=False),
        sa.Column('file_name', sa.String(160), nullable=False),
        sa.Column('content_type', sa.String(32), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('uploaded_by', sa.String(64), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['document_requests.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stored_name'),
    )
    op.create_index('ix_attachments_request_id', 'attachments', ['request_id'])
    op.create_index('ix_attachments_claim_id', 'attachments', ['claim_id'])
    op.create_table(
        'hospital_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hospital_id', sa.String(64), nullable=False),
        sa.Column('period_from', sa.Date(), nullable=False),
        sa.Column('period_to', sa.Date(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('opened_by', sa.String(64), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_by', sa.String(64), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('close_note', sa.Text(), nullable=True),
        sa.Column('closed_claims', sa.Integer(), nullable=True),
        sa.Column('closed_at_stake_fen', sa.BigInteger(), nullable=True),
        sa.Column('closed_recovered_fen', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_hospital_cases_hospital_id', 'hospital_cases', ['hospital_id'])


def downgrade() -> None:
    op.drop_index('ix_hospital_cases_hospital_id', table_name='hospital_cases')
    op.drop_table('hospital_cases')
    op.drop_index('ix_attachments_claim_id', table_name='attachments')
    op.drop_index('ix_attachments_request_id', table_name='attachments')
    op.drop_table('attachments')
    op.drop_index('ix_document_requests_claim_id', table_name='document_requests')
    op.drop_table('document_requests')
    op.drop_index('ix_claim_notes_claim_id', table_name='claim_notes')
    op.drop_table('claim_notes')
    op.drop_column('decisions', 'recovered_fen')
    op.drop_column('claims', 'recovered_fen')
