"""session versions (old sessions die on a password change) and failed logins (lock-out)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'users',
        sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'),
    )
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_name', sa.String(64), nullable=False),
        sa.Column('address', sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_login_failures_user', 'login_failures', ['user_name', 'address', 'at']
    )
    op.create_index('ix_login_failures_address', 'login_failures', ['address', 'at'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_address', table_name='login_failures')
    op.drop_index('ix_login_failures_user', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_column('users', 'session_version')
