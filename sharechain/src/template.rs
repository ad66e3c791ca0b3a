//! Share templates for the node (`docs/consensus.md` §11.1): everything a Stratum job needs to
//! mine a share on the current tip — share data, commitment, the payouts of the one payout
//! function, the coinbase and its Stratum halves — and the assembly of a found share.

use bitcoin::{ScriptBuf, Transaction};
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, ShareId, Txid, WitnessCommitment};
use otedama_proto::header::Header;
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;

use crate::chain::ShareChain;
use crate::coinbase::{self, StratumCoinbase};
use crate::index::id_number;
use crate::payout::Payout;
use crate::retarget::{self, ParentTiming};
use crate::share::{CoinbaseParts, Share, ShareCommitment, ShareData};
use crate::store::ShareStore;
use crate::validate;

/// What the node knows when it builds a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRequest {
    /// Where the miner of the job is paid.
    pub payout_script: ScriptBuf,
    /// The coinbase value of the coin's block template (subsidy + fees).
    pub coinbase_value: Amount,
    /// The block target of the coin's block template.
    pub block_bits: CompactTarget,
    /// The coin template's witness commitment, if any.
    pub witness_commitment: Option<WitnessCommitment>,
    /// A share target harder than the rule's (the dust policy, §10.7); `None` for the rule's.
    pub share_bits: Option<CompactTarget>,
}

/// A request the chain cannot build a template for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The payout script is not a standard form.
    #[error("payout script is not P2PKH, P2SH, P2WPKH, P2WSH or P2TR")]
    NonStandardPayoutScript,
    /// The requested share target is easier than the rule, below the minimum or not canonical.
    #[error("share target {requested} is not allowed (the rule's is {rule})")]
    BadShareBits {
        /// What was asked for.
        requested: CompactTarget,
        /// The rule's target.
        rule: CompactTarget,
    },
    /// The coinbase value is above the coin's supply.
    #[error("coinbase value {0} is above the coin's supply")]
    ValueTooLarge(Amount),
    /// The parent is at the greatest height (2^32 − 1): no share can follow it.
    #[error("the parent is at the greatest height, a child's height would overflow")]
    HeightOverflow,
}

/// A share in the making: fixed except for the header and the coinbase input script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTemplate {
    /// The share data the coinbase commits to.
    pub data: ShareData,
    /// Its commitment.
    pub commitment: ShareCommitment,
    /// The payout outputs, in coinbase order.
    pub payouts: Vec<Payout>,
    /// The coinbase value.
    pub coinbase_value: Amount,
    /// The witness commitment.
    pub witness_commitment: Option<WitnessCommitment>,
    /// The earliest header time the share may have (the median of §7).
    pub min_time: u32,
    /// The share target (expanded `data.bits`).
    pub share_target: Target,
}

impl ShareTemplate {
    /// The varying coinbase parts for input script `script_sig`.
    pub fn coinbase_parts(&self, script_sig: ScriptBuf) -> CoinbaseParts {
        CoinbaseParts {
            script_sig,
            value: self.coinbase_value,
            witness_commitment: self.witness_commitment,
        }
    }

    /// The full coinbase (with witness) for input script `script_sig`, as the block carries it.
    pub fn coinbase(&self, script_sig: ScriptBuf) -> Transaction {
        coinbase::build_coinbase(
            &self.coinbase_parts(script_sig),
            &self.payouts,
            &self.commitment,
        )
    }

    /// Stratum's `coinb1`/`coinb2` around the 8 extranonce bytes of
    /// [`coinbase::otedama_script_sig`]`(coin_height, _, tag)`.
    pub fn stratum_coinbase(&self, coin_height: u32, tag: &[u8]) -> StratumCoinbase {
        let script_sig =
            coinbase::otedama_script_sig(coin_height, [0; coinbase::EXTRANONCE_LEN], tag);
        coinbase::split_for_stratum(&self.coinbase(script_sig), coin_height)
    }

    /// The share a miner found: `header` (whose merkle root must be that of the coinbase with
    /// `script_sig` and `merkle_branch`), the input script it hashed, and the branch.
    pub fn share(
        &self,
        header: Header,
        script_sig: ScriptBuf,
        merkle_branch: Vec<MerkleNode>,
    ) -> Share {
        let coinbase = self.coinbase_parts(script_sig);
        let coinbase_txid: Txid =
            coinbase::coinbase_txid(&coinbase, &self.payouts, &self.commitment);
        Share {
            data: self.data.clone(),
            header,
            coinbase,
            commitment: self.commitment,
            coinbase_txid,
            merkle_branch,
        }
    }
}

impl<S: ShareStore> ShareChain<S> {
    /// The template of a share on the current tip (or a genesis share on an empty chain).
    pub fn template(&self, req: &TemplateRequest) -> Result<ShareTemplate, TemplateError> {
        self.template_at(self.tip.as_ref(), req)
    }

    /// The template of a share on `parent`, a held share (`None`: a genesis share).
    pub fn template_at(
        &self,
        parent: Option<&ShareId>,
        req: &TemplateRequest,
    ) -> Result<ShareTemplate, TemplateError> {
        if !coinbase::is_standard_payout_script(&req.payout_script) {
            return Err(TemplateError::NonStandardPayoutScript);
        }
        if req.coinbase_value > self.consensus.params().max_money {
            return Err(TemplateError::ValueTooLarge(req.coinbase_value));
        }
        let tip = parent.and_then(|t| self.index.get(t));
        let rule = match tip {
            None => retarget::next_max_target(&self.consensus, None),
            Some(t) => {
                let gp = match t.parent {
                    None => Some(None),
                    Some(g) => self.index.get(&g).map(|g| Some(g.time)),
                };
                match gp {
                    Some(grandparent_time) => retarget::next_max_target(
                        &self.consensus,
                        Some(&ParentTiming {
                            max_bits: t.max_bits,
                            time: t.time,
                            grandparent_time,
                        }),
                    ),
                    None => Target::from_compact(t.max_bits).expect("held"),
                }
            }
        };
        let max_bits = rule.to_compact();
        let bits = match req.share_bits {
            None => max_bits,
            Some(bits) => {
                let ok = Target::from_compact(bits).is_ok_and(|t| {
                    t.to_compact() == bits && t <= rule && t >= self.consensus.min_target()
                });
                if !ok {
                    return Err(TemplateError::BadShareBits {
                        requested: bits,
                        rule: max_bits,
                    });
                }
                bits
            }
        };
        let (prev_share, height) = match tip {
            None => (ShareId::ZERO, 0),
            Some(t) => (
                t.id,
                t.height
                    .checked_add(1)
                    .ok_or(TemplateError::HeightOverflow)?,
            ),
        };
        let data = ShareData {
            version: self.consensus.params().share_version,
            consensus_id: self.consensus.id(),
            prev_share,
            height,
            max_bits,
            bits,
            payout_script: req.payout_script.clone(),
            uncles: if tip.is_some() {
                self.select_uncles(height, &prev_share)
            } else {
                Vec::new()
            },
        };
        let payouts = self.payouts(
            tip.map(|t| &t.id),
            req.coinbase_value,
            req.block_bits,
            &req.payout_script,
        );
        let min_time = tip.map_or(0, |t| self.median_time(&t.id));
        Ok(ShareTemplate {
            commitment: coinbase::share_commitment(&data),
            share_target: Target::from_compact(bits).expect("checked"),
            data,
            payouts,
            coinbase_value: req.coinbase_value,
            witness_commitment: req.witness_commitment,
            min_time,
        })
    }

    /// The median time of `parent` and its ancestors (§7): the earliest time of a child.
    pub fn median_time(&self, parent: &ShareId) -> u32 {
        let span = self.consensus.params().median_span as usize;
        let mut times: Vec<u32> = self
            .index
            .ancestry(parent)
            .take(span)
            .map(|e| e.time)
            .collect();
        times.sort_unstable();
        times.get(times.len() / 2).copied().unwrap_or(0)
    }

    /// The uncles a share at `height` on `prev_share` should name: every eligible share (§8),
    /// most work first then lowest id, at most `max_uncles`, listed ascending.
    fn select_uncles(&self, height: u32, prev_share: &ShareId) -> Vec<ShareId> {
        let p = self.consensus.params();
        let low = height.saturating_sub(p.max_uncle_depth);
        // Ranked as fork choice counts them (§9): the rule's work, then the lower pow hash, so
        // a share claiming harder bits than the rule is not preferred for it.
        let mut eligible: Vec<(U256, U256, ShareId)> = self
            .index
            .ids_in_heights(low..=height.saturating_sub(1))
            .filter(|id| {
                validate::check_uncle(&self.consensus, &self.index, height, prev_share, id).is_ok()
            })
            .map(|id| {
                let e = self.index.get(id).expect("listed ids are held");
                (e.rule_work, e.pow_hash, *id)
            })
            .collect();
        eligible.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        eligible.truncate(p.max_uncles as usize);
        let mut uncles: Vec<ShareId> = eligible.into_iter().map(|(_, _, id)| id).collect();
        uncles.sort_by_key(id_number);
        uncles
    }

    /// The dust policy of §10.7: the share target at which one share on the tip would be paid
    /// at least twice `min_payout` from a coinbase of `value`, when that is harder than the
    /// rule's target; `None` when the rule's target already is enough (or nothing is).
    pub fn dust_target(
        &self,
        value: Amount,
        block_bits: CompactTarget,
        rule: Target,
    ) -> Option<CompactTarget> {
        let p = self.consensus.params();
        let tip = self.tip?;
        let total = self
            .window_credits(&tip, self.work_cap(block_bits))
            .credits
            .iter()
            .fold(U256::ZERO, |a, (_, c)| a + *c);
        let d = value.to_sat() - value.to_sat() / u64::from(p.finder_bonus_divisor);
        let m2 = p.min_payout.to_sat().saturating_mul(2);
        if d <= m2 {
            return None;
        }
        // w >= m2 · C / (D − m2), rounded up.
        let num = total.checked_mul_u64(m2)?;
        let den = U256::from_u64(d - m2);
        let w = (num + den - U256::ONE) / den;
        if w <= rule.to_work().to_u256() {
            return None;
        }
        let target = (U256::MAX / w).max(self.consensus.min_target().to_u256());
        Some(Target::from_u256(target).to_compact())
    }
}
