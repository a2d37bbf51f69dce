import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import * as argon2 from 'argon2';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { PlatformAdminRepository } from '../repositories/platform-admin.repository';
import type { AdminRole, PlatformAdminDoc } from '../schemas/platform-admin.schema';
import { isDuplicateKeyError } from '@chat/database';

export const GENERATED_ADMIN_EMAIL = 'admin@localhost';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Platform admin accounts: argon2id passwords, bootstrap of the first owner. */
@Injectable()
export class PlatformAdminService {
  private readonly logger = new Logger('PlatformAdmins');
  /** Verified against when the email is unknown, so both cases take the same time. */
  private dummyHash?: Promise<string>;

  constructor(
    private readonly config: AppConfig,
    private readonly admins: PlatformAdminRepository,
  ) {}

  /**
   * First start with no admin: create an owner from ADMIN_BOOTSTRAP_EMAIL / ADMIN_BOOTSTRAP_PASSWORD;
   * when those are unset outside production, generate a password and write both to
   * DATA_DIR/initial-admin.txt (mode 0600). Several nodes starting at once: the unique email index
   * lets one win; the others find an admin and do nothing.
   */
  async bootstrap(): Promise<void> {
    await this.admins.ensureIndexes();
    if ((await this.admins.count()) > 0) return;
    const { ADMIN_BOOTSTRAP_EMAIL: email, ADMIN_BOOTSTRAP_PASSWORD: password, NODE_ENV } = this.config;
    if (email && password) {
      if (await this.createQuietly(email, password)) this.logger.log(`Bootstrapped platform admin ${normalizeEmail(email)} (owner) from ADMIN_BOOTSTRAP_EMAIL`);
      return;
    }
    if (NODE_ENV === 'production') {
      this.logger.warn('No platform admin exists: set ADMIN_BOOTSTRAP_EMAIL and ADMIN_BOOTSTRAP_PASSWORD and restart to create the first one');
      return;
    }
    const generated = randomBytes(18).toString('base64url');
    const loginEmail = email ?? GENERATED_ADMIN_EMAIL;
    if (!(await this.createQuietly(loginEmail, generated))) return;
    const dir = resolve(this.config.DATA_DIR);
    const file = join(dir, 'initial-admin.txt');
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `email: ${normalizeEmail(loginEmail)}\npassword: ${generated}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    this.logger.warn(`Created platform admin ${normalizeEmail(loginEmail)} with a generated password: see ${file} (log in at POST /admin/auth/login, then change it)`);
  }

  private async createQuietly(email: string, password: string): Promise<boolean> {
    try {
      await this.create({ email, password, role: 'owner' });
      return true;
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') return false;
      throw err;
    }
  }

  async create(input: { email: string; password: string; role: AdminRole }): Promise<PlatformAdminDoc> {
    const email = normalizeEmail(input.email);
    try {
      return await this.admins.create({ email, password_hash: await argon2.hash(input.password, { type: argon2.argon2id }), role: input.role });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw AppError.conflict('An admin with this email already exists');
      throw err;
    }
  }

  /** The admin for these credentials, or null (unknown email, wrong password, disabled). Constant work either way. */
  async verifyCredentials(email: string, password: string): Promise<PlatformAdminDoc | null> {
    const admin = await this.admins.findByEmail(normalizeEmail(email));
    const hash = admin?.password_hash ?? (await this.dummy());
    let ok = false;
    try {
      ok = await argon2.verify(hash, password);
    } catch {
      ok = false;
    }
    if (!admin || !ok || admin.status !== 'active') return null;
    await this.admins.touchLogin(admin._id);
    return admin;
  }

  async get(id: string): Promise<PlatformAdminDoc> {
    const a = await this.admins.findById(id);
    if (!a) throw AppError.notFound('Admin');
    return a;
  }

  /** The admin if it exists and is active (checked on every admin request: disabling takes effect at once). */
  async findActive(id: string): Promise<PlatformAdminDoc | null> {
    const a = await this.admins.findById(id);
    return a && a.status === 'active' ? a : null;
  }

  list(cursor: string | undefined, limit: number): Promise<PlatformAdminDoc[]> {
    return this.admins.list(cursor, limit);
  }

  async update(id: string, input: { role?: AdminRole; status?: 'active' | 'disabled'; password?: string }): Promise<PlatformAdminDoc> {
    const set: Record<string, unknown> = {};
    if (input.role) set.role = input.role;
    if (input.status) set.status = input.status;
    if (input.password) set.password_hash = await argon2.hash(input.password, { type: argon2.argon2id });
    const a = Object.keys(set).length ? await this.admins.update(id, set) : await this.admins.findById(id);
    if (!a) throw AppError.notFound('Admin');
    return a;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= argon2.hash(randomBytes(16).toString('hex'), { type: argon2.argon2id });
    return this.dummyHash;
  }
}
